"""The attack results contract: schema (columns, names, rules), the atomic writers, the reader."""
