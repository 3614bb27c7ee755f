//! noderange
