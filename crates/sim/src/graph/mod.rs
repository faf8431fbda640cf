//! Microsoft Graph simulator (filled in by the Graph work).
