"""Payment providers (Stripe, PayPal, Creem), each behind the `PaymentProvider` interface.

Card details never reach Atelier (P4): checkout happens on the provider's page, and only provider
object ids, amounts, currency and status are kept.
"""
