//! `runner report`: finding finished runs, grouping them over seeds, the paper's claims
//! judged against them, and the tables, CSV and plots of a report.

pub mod aggregate;
pub mod claims;
pub mod document;
pub mod plots;
