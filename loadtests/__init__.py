"""Load tests and the benchmark: Locust scenarios, account setup and a throwaway local stack."""
