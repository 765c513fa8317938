//! A faithful local amoCRM (Kommo) account.
//!
//! Serves API v4 with HAL JSON, the limits and faults real integrations trip
//! over, a control API that acts like office staff, and webhook delivery in the
//! real form-urlencoded shape. Facts: `shared/docs/amocrm.md`.

pub mod model;
pub mod problem;
pub mod webhooks;
