//! Webhook management and delivery.
