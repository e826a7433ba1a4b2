//! GOT collection the generic way (every arch but Xtensa, whose literal pool needs its own).

use crate::error::{ErrorKind, LinkError, Result};
use crate::model::{GotEntry, GotPlan, Resolution, SymType};
use std::collections::HashMap;

/// Collects GOT entries the generic way: every global symbol behind a GOT-type relocation in
/// a linked section, keyed by name, in first-reference order.
pub fn collect_got_generic(got_types: &[u32], res: &Resolution) -> Result<GotPlan> {
    let mut plan = GotPlan::default();
    let mut seen = HashMap::new();
    for &id in &res.sections.order {
        let Some((obj, relocs)) = res.relocs_of(id) else {
            continue;
        };
        let file = &res.objects.files[obj];
        for r in relocs {
            let s = &file.symbols[r.sym as usize];
            if !(s.is_global() && got_types.contains(&r.rtype)) {
                continue;
            }
            if !matches!(s.stype, SymType::NoType | SymType::Func | SymType::Object)
                || s.name.is_empty()
            {
                return Err(LinkError::new(
                    ErrorKind::Unsupported,
                    format!(
                        "{}: GOT relocation to a symbol of unsupported type: {:?}",
                        file.name, s.name
                    ),
                )
                .object(file.name.clone())
                .at(res.sections.all[id].name.clone(), r.offset));
            }
            if seen.insert(s.name.clone(), ()).is_none() {
                plan.entries.push(GotEntry {
                    name: s.name.clone(),
                    symbol: s.name.clone(),
                    target: res.objects.targets[obj][r.sym as usize],
                    init: 0,
                    offset: 0,
                });
            }
        }
    }
    Ok(plan)
}
