//! koppel snelstart
