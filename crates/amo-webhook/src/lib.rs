//! amoCRM webhook decoder.
