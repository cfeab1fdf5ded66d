//! Articles as products (`Source<Product>`), and the article lookups orders use.

use async_trait::async_trait;
use koppel_core::{Error, Page, Product, ReadRequest, Result, Source};
use serde_json::Value;

use crate::client::Query;
use crate::mapping::{self};
use crate::models::Artikel;

use super::slices::ARTICLES_SLICED;
use super::{read_item, SnelStartAdministration};

impl SnelStartAdministration {
    pub(super) fn remember_article(&self, a: &Artikel) {
        if let Some(code) = &a.artikelcode {
            self.articles_by_code.insert(code.clone(), a.clone());
        }
        if let Some(id) = &a.id {
            self.articles_by_id.insert(id.to_ascii_lowercase(), a.clone());
        }
    }

    /// An article by its code (`$filter=Artikelcode eq '…'`), cached; `None` when unknown.
    pub async fn article_by_code(&self, code: &str) -> Result<Option<Artikel>> {
        if let Some(a) = self.articles_by_code.get(code) {
            return Ok(Some(a));
        }
        let q = Query {
            filter: Some(format!("Artikelcode eq {}", mapping::odata_string(code))),
            select: None,
            skip: 0,
            top: 2,
        };
        let items = self.client.list_page("/artikelen", &q).await?;
        let found = items
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Artikel>(v).ok())
            .find(|a| a.artikelcode.as_deref() == Some(code));
        if let Some(a) = &found {
            self.remember_article(a);
        }
        Ok(found)
    }

    /// An article by GUID, cached; `None` when SnelStart does not know it.
    pub async fn article_by_id(&self, id: &str) -> Result<Option<Artikel>> {
        if let Some(a) = self.articles_by_id.get(&id.to_ascii_lowercase()) {
            return Ok(Some(a));
        }
        match self
            .client
            .get::<Artikel>(&format!("/artikelen/{id}"), "/artikelen/{id}")
            .await
        {
            Ok(a) => {
                self.remember_article(&a);
                Ok(Some(a))
            }
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether an article is left out of the products and stock flows: one of the orders'
    /// service articles, or listed in `products.exclude`.
    pub(super) fn not_a_product(&self, a: &Artikel) -> bool {
        let Some(code) = a.artikelcode.as_deref().map(str::trim) else {
            return false;
        };
        let o = &self.config.orders;
        [
            &o.shipping_article,
            &o.payment_fee_article,
            &o.discount_article,
            &o.fee_article,
        ]
        .into_iter()
        .flatten()
        .chain(&self.config.products.exclude)
        .any(|c| c.trim() == code)
    }

    pub(super) async fn read_articles(
        &self,
        request: &ReadRequest,
        select: Option<&str>,
        incremental: bool,
    ) -> Result<(Vec<Value>, Option<String>)> {
        let top = self.config.article_page_size;
        self.read_sliced("/artikelen", ARTICLES_SLICED, request, select, top, !incremental)
            .await
    }
}

#[async_trait]
impl Source<Product> for SnelStartAdministration {
    async fn read(&self, request: &ReadRequest) -> Result<Page<Product>> {
        let (items, next) = self.read_articles(request, None, true).await?;
        let refs = self.refdata().await?;
        let today = mapping::today_nl();
        let items = items
            .into_iter()
            .filter_map(|v| {
                let a: Artikel = match read_item("article", &v) {
                    Ok(a) => a,
                    Err(r) => return Some(Err(r)),
                };
                self.remember_article(&a);
                if self.not_a_product(&a) {
                    return None;
                }
                Some(mapping::article_to_product(
                    &a,
                    &refs,
                    &self.config.products,
                    today,
                ))
            })
            .collect();
        Ok(Page { items, next })
    }
}
