//! koppel magento
