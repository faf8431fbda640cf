//! CRM-service simulator (filled in by the CRM-service work).
