"""Reading input: untrusted files parsed safely, reference data, rules, tokens."""
