//! The resources the simulated webservice serves and their fields, after the `$definition` and
//! `$webserviceParameters` of PrestaShop's `ObjectModel` classes (classes/Product.php,
//! classes/stock/StockAvailable.php, classes/order/Order.php, classes/order/OrderDetail.php, ...).
//! Only the fields koppel's flows and the traps around them need are listed, but each resource
//! keeps fields whose value is typically `0` or empty, so full-record PUT semantics can be tested.

/// One field of a resource.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// XML/JSON name.
    pub name: &'static str,
    /// Multilingual (`<language id="1">`).
    pub lang: bool,
    /// `required` in the definition: omitted on PUT/POST gives error 41 (non-lang fields).
    pub required: bool,
    /// `setter => false` in the webservice parameters: sending it gives error 93.
    pub read_only: bool,
}

const fn f(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        lang: false,
        required: false,
        read_only: false,
    }
}
const fn req(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        lang: false,
        required: true,
        read_only: false,
    }
}
const fn ro(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        lang: false,
        required: false,
        read_only: true,
    }
}
const fn lang(name: &'static str, required: bool) -> FieldDef {
    FieldDef {
        name,
        lang: true,
        required,
        read_only: false,
    }
}

/// An association (`<associations><categories><category><id>`).
#[derive(Debug, Clone, Copy)]
pub struct AssocDef {
    /// Container name, e.g. `categories`.
    pub name: &'static str,
    /// Item node name, e.g. `category`.
    pub item: &'static str,
    /// Fields of an item.
    pub fields: &'static [&'static str],
}

/// A resource.
#[derive(Debug, Clone, Copy)]
pub struct ResourceDef {
    /// Plural name: the URL segment and the list node (`products`).
    pub name: &'static str,
    /// Singular node name (`product`).
    pub single: &'static str,
    /// Fields in output order (`id` first).
    pub fields: &'static [FieldDef],
    /// Associations.
    pub assocs: &'static [AssocDef],
    /// Methods the resource refuses (`forbidden_method`: error 101).
    pub forbidden: &'static [&'static str],
}

impl ResourceDef {
    /// The field definition by name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
    /// The association by name.
    pub fn assoc(&self, name: &str) -> Option<&AssocDef> {
        self.assocs.iter().find(|a| a.name == name)
    }
}

const PRODUCT_FIELDS: &[FieldDef] = &[
    f("id"),
    f("id_manufacturer"),
    f("id_supplier"),
    f("id_category_default"),
    f("new"),
    f("cache_default_attribute"),
    f("id_default_image"),
    f("id_default_combination"),
    f("id_tax_rules_group"),
    // Product::$webserviceParameters: 'position_in_category' has a getter and a setter that
    // refuses 0 / empty (error 134) and a position past the end (135).
    f("position_in_category"),
    // 'manufacturer_name' and 'quantity' are `setter => false`: error 93 when sent.
    ro("manufacturer_name"),
    ro("quantity"),
    f("type"),
    f("id_shop_default"),
    f("reference"),
    f("supplier_reference"),
    f("location"),
    f("width"),
    f("height"),
    f("depth"),
    f("weight"),
    f("quantity_discount"),
    f("ean13"),
    f("isbn"),
    f("upc"),
    f("mpn"),
    f("cache_is_pack"),
    f("cache_has_attachments"),
    f("is_virtual"),
    f("state"),
    f("on_sale"),
    f("online_only"),
    f("ecotax"),
    f("minimal_quantity"),
    f("low_stock_threshold"),
    f("low_stock_alert"),
    req("price"),
    f("wholesale_price"),
    f("unity"),
    f("unit_price_ratio"),
    f("additional_shipping_cost"),
    f("customizable"),
    f("active"),
    f("redirect_type"),
    f("available_for_order"),
    f("available_date"),
    f("show_condition"),
    f("condition"),
    f("show_price"),
    f("indexed"),
    f("visibility"),
    f("advanced_stock_management"),
    f("date_add"),
    f("date_upd"),
    f("pack_stock_type"),
    lang("meta_description", false),
    lang("meta_keywords", false),
    lang("meta_title", false),
    lang("link_rewrite", true),
    lang("name", true),
    lang("description", false),
    lang("description_short", false),
    lang("available_now", false),
    lang("available_later", false),
];

const ID: &[&str] = &["id"];

/// Every resource the simulator serves.
pub const RESOURCES: &[ResourceDef] = &[
    ResourceDef {
        name: "products",
        single: "product",
        fields: PRODUCT_FIELDS,
        assocs: &[
            AssocDef {
                name: "categories",
                item: "category",
                fields: ID,
            },
            AssocDef {
                name: "combinations",
                item: "combination",
                fields: ID,
            },
            AssocDef {
                name: "stock_availables",
                item: "stock_available",
                fields: &["id", "id_product_attribute"],
            },
        ],
        forbidden: &[],
    },
    ResourceDef {
        name: "combinations",
        single: "combination",
        fields: &[
            f("id"),
            req("id_product"),
            f("location"),
            f("ean13"),
            f("upc"),
            f("mpn"),
            ro("quantity"),
            f("reference"),
            f("supplier_reference"),
            f("wholesale_price"),
            f("price"),
            f("ecotax"),
            f("weight"),
            f("unit_price_impact"),
            req("minimal_quantity"),
            f("low_stock_threshold"),
            f("low_stock_alert"),
            f("default_on"),
            f("available_date"),
        ],
        assocs: &[AssocDef {
            name: "product_option_values",
            item: "product_option_value",
            fields: ID,
        }],
        forbidden: &[],
    },
    ResourceDef {
        name: "stock_availables",
        single: "stock_available",
        fields: &[
            f("id"),
            req("id_product"),
            req("id_product_attribute"),
            f("id_shop"),
            f("id_shop_group"),
            req("quantity"),
            req("depends_on_stock"),
            req("out_of_stock"),
            f("location"),
        ],
        assocs: &[],
        // StockAvailable's webservice parameters: 'forbidden_method' => ['POST', 'DELETE'].
        forbidden: &["POST", "DELETE"],
    },
    ResourceDef {
        name: "categories",
        single: "category",
        fields: &[
            f("id"),
            f("id_parent"),
            ro("level_depth"),
            ro("nb_products_recursive"),
            req("active"),
            f("id_shop_default"),
            f("is_root_category"),
            f("position"),
            f("date_add"),
            f("date_upd"),
            lang("name", true),
            lang("link_rewrite", true),
            lang("description", false),
            lang("meta_title", false),
        ],
        assocs: &[AssocDef {
            name: "categories",
            item: "category",
            fields: ID,
        }],
        forbidden: &[],
    },
    ResourceDef {
        name: "customers",
        single: "customer",
        fields: &[
            f("id"),
            f("id_default_group"),
            f("id_lang"),
            ro("secure_key"),
            f("deleted"),
            req("passwd"),
            req("lastname"),
            req("firstname"),
            req("email"),
            f("id_gender"),
            f("birthday"),
            f("newsletter"),
            f("optin"),
            f("website"),
            f("company"),
            f("siret"),
            f("ape"),
            f("outstanding_allow_amount"),
            f("max_payment_days"),
            f("active"),
            f("note"),
            f("is_guest"),
            f("id_shop"),
            f("id_shop_group"),
            f("date_add"),
            f("date_upd"),
        ],
        assocs: &[AssocDef {
            name: "groups",
            item: "group",
            fields: ID,
        }],
        forbidden: &[],
    },
    ResourceDef {
        name: "addresses",
        single: "address",
        fields: &[
            f("id"),
            f("id_customer"),
            f("id_manufacturer"),
            f("id_supplier"),
            f("id_warehouse"),
            req("id_country"),
            f("id_state"),
            req("alias"),
            f("company"),
            req("lastname"),
            req("firstname"),
            f("vat_number"),
            req("address1"),
            f("address2"),
            f("postcode"),
            req("city"),
            f("other"),
            f("phone"),
            f("phone_mobile"),
            f("dni"),
            f("deleted"),
            f("date_add"),
            f("date_upd"),
        ],
        assocs: &[],
        forbidden: &[],
    },
    ResourceDef {
        name: "countries",
        single: "country",
        fields: &[
            f("id"),
            f("id_zone"),
            f("id_currency"),
            f("call_prefix"),
            req("iso_code"),
            f("active"),
            f("contains_states"),
            f("need_identification_number"),
            f("need_zip_code"),
            f("zip_code_format"),
            f("display_tax_label"),
            lang("name", true),
        ],
        assocs: &[],
        forbidden: &[],
    },
    ResourceDef {
        name: "currencies",
        single: "currency",
        fields: &[
            f("id"),
            f("name"),
            req("iso_code"),
            f("numeric_iso_code"),
            f("precision"),
            f("conversion_rate"),
            f("deleted"),
            f("active"),
        ],
        assocs: &[],
        forbidden: &[],
    },
    ResourceDef {
        name: "orders",
        single: "order",
        fields: &[
            f("id"),
            req("id_address_delivery"),
            req("id_address_invoice"),
            req("id_cart"),
            req("id_currency"),
            req("id_lang"),
            req("id_customer"),
            req("id_carrier"),
            f("current_state"),
            req("module"),
            f("invoice_number"),
            f("invoice_date"),
            f("delivery_number"),
            f("delivery_date"),
            f("valid"),
            f("date_add"),
            f("date_upd"),
            ro("shipping_number"),
            f("id_shop_group"),
            f("id_shop"),
            f("secure_key"),
            req("payment"),
            f("recyclable"),
            f("gift"),
            f("gift_message"),
            f("mobile_theme"),
            f("total_discounts"),
            f("total_discounts_tax_incl"),
            f("total_discounts_tax_excl"),
            req("total_paid"),
            f("total_paid_tax_incl"),
            f("total_paid_tax_excl"),
            req("total_paid_real"),
            req("total_products"),
            req("total_products_wt"),
            f("total_shipping"),
            f("total_shipping_tax_incl"),
            f("total_shipping_tax_excl"),
            f("carrier_tax_rate"),
            f("total_wrapping"),
            f("total_wrapping_tax_incl"),
            f("total_wrapping_tax_excl"),
            f("round_mode"),
            f("round_type"),
            req("conversion_rate"),
            f("reference"),
        ],
        assocs: &[AssocDef {
            name: "order_rows",
            item: "order_row",
            fields: &[
                "id",
                "product_id",
                "product_attribute_id",
                "product_quantity",
                "product_name",
                "product_reference",
                "product_ean13",
                "product_price",
                "id_customization",
                "unit_price_tax_incl",
                "unit_price_tax_excl",
            ],
        }],
        forbidden: &[],
    },
    ResourceDef {
        name: "order_details",
        single: "order_detail",
        fields: &[
            f("id"),
            req("id_order"),
            f("product_id"),
            f("product_attribute_id"),
            req("product_quantity"),
            req("product_name"),
            f("product_reference"),
            f("product_ean13"),
            req("product_price"),
            f("unit_price_tax_incl"),
            f("unit_price_tax_excl"),
            f("total_price_tax_incl"),
            f("total_price_tax_excl"),
            f("reduction_percent"),
            f("reduction_amount"),
            f("reduction_amount_tax_incl"),
            f("reduction_amount_tax_excl"),
            f("product_weight"),
            f("id_tax_rules_group"),
            f("tax_computation_method"),
            f("tax_name"),
            f("tax_rate"),
        ],
        assocs: &[],
        forbidden: &[],
    },
    ResourceDef {
        name: "order_histories",
        single: "order_history",
        fields: &[
            f("id"),
            f("id_employee"),
            req("id_order_state"),
            req("id_order"),
            f("date_add"),
        ],
        assocs: &[],
        forbidden: &["PUT", "PATCH", "DELETE"],
    },
    ResourceDef {
        name: "order_states",
        single: "order_state",
        fields: &[
            f("id"),
            f("unremovable"),
            f("delivery"),
            f("hidden"),
            f("send_email"),
            f("module_name"),
            f("invoice"),
            f("color"),
            f("logable"),
            f("shipped"),
            f("paid"),
            f("pdf_delivery"),
            f("pdf_invoice"),
            f("deleted"),
            lang("name", true),
            lang("template", false),
        ],
        assocs: &[],
        forbidden: &[],
    },
    ResourceDef {
        name: "messages",
        single: "message",
        fields: &[
            f("id"),
            f("id_cart"),
            f("id_order"),
            f("id_customer"),
            f("id_employee"),
            req("message"),
            f("private"),
            f("date_add"),
        ],
        assocs: &[],
        forbidden: &[],
    },
];

/// The resource by its plural name.
pub fn resource(name: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| r.name == name)
}
