"""The data-access layer: the only code that touches DynamoDB. It returns domain models."""
