"""Resource budgets: how many beds and masks a policy may hand out."""
