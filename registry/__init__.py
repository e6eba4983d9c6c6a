"""The account registry: schema, filings and every write to the database."""
