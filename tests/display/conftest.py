from tests.runner.fake_airflow import fake_airflow

__all__ = ["fake_airflow"]
