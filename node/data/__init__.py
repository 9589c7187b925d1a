"""Data a node serves: unified social credit codes, dataset schemas, loading and validation."""
