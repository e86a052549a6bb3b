"""The concierge agent's real effects: a vendor directory, quote requests e-mailed with a
signed link, and the quotes vendors answer through it. The task record is counted from these."""
