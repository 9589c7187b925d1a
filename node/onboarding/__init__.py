"""From a project file naming the parties and their data files to a federation ready to start:
certificates, inferred schemas, proposed deny-by-default policies, configurations, job files."""
