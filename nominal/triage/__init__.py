"""The triage service: every rule about who may do what with the night's exceptions, review pairs
and persons, the workflow, decisions and the audit log. The JSON API (``nominal.api``), the web
pages and the CLI call these functions; none of them touches the tables or decides a rule.

- ``roles``       roles, permissions and the one table joining them (deny by default)
- ``workflow``    which action takes an exception from which status to which
- ``auth``        signing in and out, sessions, tokens, rate-limited sign-in
- ``users``       managing users (admins), the first admin
- ``exceptions``  the queue, one exception, its workflow, comments, accepted values
- ``reviews``     match review: two records side by side, link / do-not-link / not sure
- ``persons``     a person's golden record, lineage, records, history; unlinking a record
- ``search``      by name, date of birth or identifier
- ``decisions``   decisions by report reference or record keys; withdrawing one
- ``audit``       reading the audit log
- ``rules``       each exception's rule in a data officer's words
- ``masks``       what a viewer sees of a record

Every function takes the store's engine and the ``Actor`` (who is acting, from where), checks the
actor's permission first, and writes the audit row with the change in one transaction.
"""
