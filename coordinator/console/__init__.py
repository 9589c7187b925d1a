"""The coordinator's console views: federation overview, jobs, job submission, the witness."""
