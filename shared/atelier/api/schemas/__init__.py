"""HTTP request and response models, mapped explicitly from and to domain models."""
