"""Publish: one golden record per person, the disagreements among their records, the cross-agency
discrepancy rules, tonight's exceptions merged with earlier nights', and the reports.

Plain functions over frames (the nightly flow wraps them); the one write to the store is
``store.writes.publish_night``.
"""
