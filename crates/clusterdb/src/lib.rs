//! clusterdb
