//! One order line against the menu: what the caller asked for ([`LineRequest`], ids already
//! found by the speech-tolerant search) checked by [`check_line`] into a priced [`CartLine`],
//! or refused with a [`LineRefusal`] whose [`LineRefusal::sentence`] the agent says.

use crate::money::Cents;
use crate::restaurant::{Item, ModifierGroup, ModifierOption, Restaurant, Rule};
use serde::{Deserialize, Serialize};

/// The most of one line a caller may order (a typo guard; the order-wide cap is the
/// restaurant's `max_items_per_order`).
pub const MAX_QUANTITY: u32 = 99;
/// Longest kitchen note kept on a line.
pub const MAX_NOTE_CHARS: usize = 200;

/// What the caller asked for, by menu ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRequest {
    pub item_id: String,
    pub quantity: u32,
    /// Option ids, in any order; repeats count once.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// One chosen option, with what it is called and costs (as the menu said when it was chosen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenOption {
    pub group_id: String,
    pub id: String,
    pub name: String,
    pub price_cents: Cents,
    /// Applied by the group's default, not said by the caller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_default: bool,
}

/// A checked, priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub item_id: String,
    pub name: String,
    pub quantity: u32,
    /// In the order of the item's groups, then of each group's options.
    pub options: Vec<ChosenOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Item plus options, never below zero.
    pub unit_cents: Cents,
    /// `unit_cents` × `quantity`.
    pub line_cents: Cents,
}

impl CartLine {
    /// The read-back: "2 Pepperoni Pizza, large, thin crust, with mushrooms, $41" — what the
    /// caller confirms before the line enters the cart.
    pub fn read_back(&self) -> String {
        let mut s = format!("{} {}", self.quantity, self.name);
        let chosen: Vec<&str> = self.options.iter().map(|o| o.name.as_str()).collect();
        if !chosen.is_empty() {
            s.push_str(", ");
            s.push_str(&chosen.join(", "));
        }
        if let Some(n) = &self.notes {
            s.push_str(&format!(" (note: {n})"));
        }
        s.push_str(&format!(", {}", self.line_cents.spoken()));
        s
    }
}

/// Why a line cannot be ordered as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineRefusal {
    UnknownItem {
        item_id: String,
    },
    SoldOut {
        name: String,
    },
    Quantity {
        name: String,
    },
    UnknownOption {
        option_id: String,
        item: String,
    },
    /// An option of the menu, but of no group this item has.
    NotOnItem {
        option: String,
        item: String,
    },
    /// A required choice the caller has not made, and the group has no default.
    ChoiceNeeded {
        group: String,
        item: String,
        choices: Vec<String>,
    },
    TooFew {
        group: String,
        item: String,
        min: u32,
    },
    TooMany {
        group: String,
        item: String,
        max: u32,
    },
    /// A `requires` or `unavailable_with` rule, with the restaurant's own words.
    Rule {
        message: String,
    },
    /// The price does not fit (only absurd quantities of absurd prices).
    Overflow,
}

impl LineRefusal {
    /// What the agent says.
    pub fn sentence(&self) -> String {
        match self {
            LineRefusal::UnknownItem { .. } => "I couldn't find that on the menu.".to_owned(),
            LineRefusal::SoldOut { name } => {
                format!("Sorry, the {name} is sold out right now.")
            }
            LineRefusal::Quantity { name } => {
                format!("How many {name} would you like? I can take 1 to {MAX_QUANTITY} at a time.")
            }
            LineRefusal::UnknownOption { item, .. } => {
                format!("I couldn't find that option for the {item}.")
            }
            LineRefusal::NotOnItem { option, item } => {
                format!("{option} isn't an option for the {item}.")
            }
            LineRefusal::ChoiceNeeded {
                group,
                item,
                choices,
            } => format!(
                "Which {} would you like for the {item}: {}?",
                group.to_lowercase(),
                spoken_list(choices, "or")
            ),
            LineRefusal::TooFew { group, item, min } => format!(
                "Please choose at least {min} {} for the {item}.",
                group.to_lowercase()
            ),
            LineRefusal::TooMany { group, item, max } => format!(
                "You can choose up to {max} {} for the {item}.",
                group.to_lowercase()
            ),
            LineRefusal::Rule { message } => message.clone(),
            LineRefusal::Overflow => "That's more than I can put on one order.".to_owned(),
        }
    }
}

/// "a, b or c".
fn spoken_list(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

fn find_item<'r>(r: &'r Restaurant, id: &str) -> Option<&'r Item> {
    r.items().map(|(_, i)| i).find(|i| i.id == id)
}

fn group<'r>(r: &'r Restaurant, id: &str) -> Option<&'r ModifierGroup> {
    r.menu.modifier_groups.iter().find(|g| g.id == id)
}

fn option_anywhere<'r>(r: &'r Restaurant, id: &str) -> Option<&'r ModifierOption> {
    r.menu
        .modifier_groups
        .iter()
        .flat_map(|g| g.options.iter())
        .find(|o| o.id == id)
}

/// Check `req` against the menu of `r` and price it.
pub fn check_line(r: &Restaurant, req: &LineRequest) -> Result<CartLine, LineRefusal> {
    let item = find_item(r, &req.item_id).ok_or_else(|| LineRefusal::UnknownItem {
        item_id: req.item_id.clone(),
    })?;
    if !item.available {
        return Err(LineRefusal::SoldOut {
            name: item.name.clone(),
        });
    }
    if !(1..=MAX_QUANTITY).contains(&req.quantity) {
        return Err(LineRefusal::Quantity {
            name: item.name.clone(),
        });
    }
    let groups: Vec<&ModifierGroup> = item
        .modifier_groups
        .iter()
        .filter_map(|g| group(r, g))
        .collect();
    // Every option said must belong to one of this item's groups.
    let mut said: Vec<&str> = Vec::new();
    for id in &req.options {
        if said.contains(&id.as_str()) {
            continue;
        }
        if !groups.iter().any(|g| g.options.iter().any(|o| &o.id == id)) {
            return Err(match option_anywhere(r, id) {
                Some(o) => LineRefusal::NotOnItem {
                    option: o.name.clone(),
                    item: item.name.clone(),
                },
                None => LineRefusal::UnknownOption {
                    option_id: id.clone(),
                    item: item.name.clone(),
                },
            });
        }
        said.push(id);
    }
    // Group by group: what was said, else the default; then min and max.
    let mut chosen = Vec::new();
    for g in &groups {
        let mut picked: Vec<&ModifierOption> = g
            .options
            .iter()
            .filter(|o| said.contains(&o.id.as_str()))
            .collect();
        let mut by_default = false;
        if picked.is_empty()
            && let Some(d) = &g.default
            && let Some(o) = g.options.iter().find(|o| &o.id == d)
        {
            picked.push(o);
            by_default = true;
        }
        let n = u32::try_from(picked.len()).unwrap_or(u32::MAX);
        if n == 0 && g.min > 0 {
            return Err(LineRefusal::ChoiceNeeded {
                group: g.name.clone(),
                item: item.name.clone(),
                choices: g.options.iter().map(|o| o.name.clone()).collect(),
            });
        }
        if n < g.min {
            return Err(LineRefusal::TooFew {
                group: g.name.clone(),
                item: item.name.clone(),
                min: g.min,
            });
        }
        if n > g.max {
            return Err(LineRefusal::TooMany {
                group: g.name.clone(),
                item: item.name.clone(),
                max: g.max,
            });
        }
        chosen.extend(picked.into_iter().map(|o| ChosenOption {
            group_id: g.id.clone(),
            id: o.id.clone(),
            name: o.name.clone(),
            price_cents: o.price_cents,
            by_default,
        }));
    }
    // The restaurant's own rules, in document order.
    let has = |id: &str| chosen.iter().any(|c| c.id == id);
    for rule in &r.menu.rules {
        match rule {
            Rule::Requires {
                option,
                needs,
                message,
            } if has(option) && !has(needs) => {
                return Err(LineRefusal::Rule {
                    message: message.clone(),
                });
            }
            Rule::UnavailableWith {
                option,
                items,
                message,
            } if has(option) && items.contains(&item.id) => {
                return Err(LineRefusal::Rule {
                    message: message.clone(),
                });
            }
            _ => {}
        }
    }
    let unit = chosen
        .iter()
        .try_fold(item.price_cents, |acc, o| acc.checked_add(o.price_cents))
        .ok_or(LineRefusal::Overflow)?
        .max(Cents::ZERO);
    let line = unit
        .checked_mul(i64::from(req.quantity))
        .ok_or(LineRefusal::Overflow)?;
    let notes = req
        .notes
        .as_deref()
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(MAX_NOTE_CHARS).collect());
    Ok(CartLine {
        item_id: item.id.clone(),
        name: item.name.clone(),
        quantity: req.quantity,
        options: chosen,
        notes,
        unit_cents: unit,
        line_cents: line,
    })
}
