//! Articles as stock levels (`Source<StockLevel>`).

use async_trait::async_trait;
use koppel_core::{Page, ReadRequest, Result, Source, StockLevel};

use crate::config::StockKind;
use crate::mapping::{self};
use crate::models::Artikel;

use super::{read_item, SnelStartAdministration};

#[async_trait]
impl Source<StockLevel> for SnelStartAdministration {
    async fn read(&self, request: &ReadRequest) -> Result<Page<StockLevel>> {
        let cfg = &self.config.stock;
        let select = match cfg.kind {
            StockKind::Technical => "Id,Artikelcode,ModifiedOn,VoorraadControle,TechnischeVoorraad",
            StockKind::Free => "Id,Artikelcode,ModifiedOn,VoorraadControle,VrijeVoorraad",
        };
        let (items, next) = self.read_articles(request, Some(select), cfg.incremental).await?;
        let items = items
            .into_iter()
            .filter_map(|v| match read_item::<Artikel>("article", &v) {
                Err(r) => Some(Err(r)),
                Ok(a) if self.not_a_product(&a) => None,
                Ok(a) => mapping::article_to_stock(&a, cfg.kind, cfg.skip_untracked).transpose(),
            })
            .collect();
        Ok(Page { items, next })
    }
}
