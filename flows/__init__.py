"""Orchestration: the nightly Prefect flow and the commands' runs, wiring the stages to the store."""
