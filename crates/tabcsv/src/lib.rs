//! tabcsv
