//! valexpr
