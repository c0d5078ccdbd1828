//! `runner report`: finding finished runs, grouping them over seeds, the paper's claims
//! judged against them, and the tables, CSV, plots and HTML page of a report.

pub mod aggregate;
pub mod claims;
pub mod document;
pub mod html;
pub mod plots;
pub mod scorecard;
