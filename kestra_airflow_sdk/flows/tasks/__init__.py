"""Models of Kestra's core tasks, by family: runnable tasks (``runnable``) and flowable tasks that
run other tasks (``flowable``). The task union lives in :mod:`kestra_airflow_sdk.flows.core_tasks`."""
