//! Built-in tunnels (issue 4): being written.
