//! amoCRM API v4 client.
