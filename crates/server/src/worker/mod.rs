//! Background work: leased jobs in Postgres shared by all server replicas (being written).
