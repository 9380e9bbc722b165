//! The IAM instance profile an instance runs with: given at launch (RunInstances'
//! `IamInstanceProfile`) or later (AssociateIamInstanceProfile), replaced, removed, and listed as
//! associations (`iip-assoc-…`).
//!
//! The association lives in the instance's record, so it goes with the instance when it is
//! terminated. Associate and Replace answer `associating` and Disassociate `disassociating`, as
//! AWS does; Describe shows `associated` at once (AWS takes a few seconds).

use super::run::{check_instance_id, not_found};
use super::{Instance, State};
use crate::ec2::common;
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// An instance's association with an instance profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileAssociation {
    /// `iip-assoc-` and 17 hex digits.
    pub id: String,
    pub arn: String,
    /// The profile's `AIPA…` id.
    pub profile_id: String,
    pub timestamp: String,
}

impl ProfileAssociation {
    /// A new association with the profile a request names (`Name` or `Arn`).
    pub fn new(
        ctx: &Ctx<'_>,
        tx: &Tx<'_>,
        spec: &dto::IamInstanceProfileSpecification,
    ) -> ApiResult<Self> {
        let (arn, profile_id) = crate::iam::profiles::for_instance(
            tx,
            ctx.account(),
            spec.name.as_deref(),
            spec.arn.as_deref(),
        )?;
        Ok(ProfileAssociation {
            id: crate::ids::resource_id("iip-assoc"),
            arn,
            profile_id,
            timestamp: crate::iso(ctx.clock.now()),
        })
    }

    /// The instance's `IamInstanceProfile` member.
    pub fn json(&self) -> Value {
        serde_json::json!({"Arn": self.arn, "Id": self.profile_id})
    }

    fn out(&self, instance_id: &str, state: &str) -> dto::IamInstanceProfileAssociation {
        dto::IamInstanceProfileAssociation {
            association_id: Some(self.id.clone()),
            iam_instance_profile: Some(dto::IamInstanceProfile {
                arn: Some(self.arn.clone()),
                id: Some(self.profile_id.clone()),
            }),
            instance_id: Some(instance_id.to_owned()),
            state: Some(state.to_owned()),
            timestamp: Some(self.timestamp.clone()),
        }
    }
}

fn association_not_found(id: &str) -> ApiError {
    common::not_found("InvalidAssociationID.NotFound", "association", id)
}

/// The instance (not terminated) that holds association `id`.
fn holder(ctx: &Ctx<'_>, tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<Arc<Instance>> {
    if !id.starts_with("iip-assoc-") {
        return Err(ApiError::invalid_parameter_value(
            "Invalid value for associationId.",
        ));
    }
    tx.list::<Instance>(scope)
        .into_iter()
        .find(|i| {
            i.state(ctx.clock) != State::Terminated
                && i.profile.as_ref().is_some_and(|p| p.id == id)
        })
        .ok_or_else(|| association_not_found(id))
}

/// Gives instance `i` a new association with `profile`: the association and the instance's id.
fn attach(
    ctx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    mut i: Arc<Instance>,
    profile: &dto::IamInstanceProfileSpecification,
) -> ApiResult<(ProfileAssociation, String)> {
    let association = ProfileAssociation::new(ctx, tx, profile)?;
    Arc::make_mut(&mut i).profile = Some(association.clone());
    let id = i.id.clone();
    tx.put(&ctx.scope(), (*i).clone())?;
    Ok((association, id))
}

pub fn associate_iam_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::AssociateIamInstanceProfileRequest = typed(input)?;
    check_instance_id(&req.instance_id)?;
    let scope = ctx.scope();
    let (association, id) = ctx.store.write(|tx| {
        let i = tx
            .get::<Instance>(&scope, &req.instance_id)
            .filter(|i| i.state(ctx.clock) != State::Terminated)
            .ok_or_else(|| not_found(std::slice::from_ref(&req.instance_id)))?;
        if i.profile.is_some() {
            return Err(ApiError::new(
                "IncorrectState",
                format!("There is an existing association for instance {}", i.id),
            ));
        }
        attach(ctx, tx, i, &req.iam_instance_profile)
    })?;
    Ok(Output::new(dto::AssociateIamInstanceProfileResult {
        iam_instance_profile_association: Some(association.out(&id, "associating")),
    }))
}

pub fn replace_iam_instance_profile_association(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ReplaceIamInstanceProfileAssociationRequest = typed(input)?;
    let scope = ctx.scope();
    let (association, id) = ctx.store.write(|tx| {
        let i = holder(ctx, tx, &scope, &req.association_id)?;
        attach(ctx, tx, i, &req.iam_instance_profile)
    })?;
    Ok(Output::new(
        dto::ReplaceIamInstanceProfileAssociationResult {
            iam_instance_profile_association: Some(association.out(&id, "associating")),
        },
    ))
}

pub fn disassociate_iam_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DisassociateIamInstanceProfileRequest = typed(input)?;
    let scope = ctx.scope();
    let (association, id) = ctx.store.write(|tx| {
        let mut i = holder(ctx, tx, &scope, &req.association_id)?;
        let association = Arc::make_mut(&mut i).profile.take();
        let id = i.id.clone();
        tx.put(&scope, (*i).clone())?;
        Ok::<_, ApiError>((association, id))
    })?;
    Ok(Output::new(dto::DisassociateIamInstanceProfileResult {
        iam_instance_profile_association: association.map(|a| a.out(&id, "disassociating")),
    }))
}

/// One association and the instance that holds it, as filters see them.
struct Row(String, ProfileAssociation);

impl common::Filterable for Row {
    fn field(&self, name: &str) -> common::Field {
        match name {
            "instance-id" => common::one(&self.0),
            "state" => common::one("associated"),
            _ => None,
        }
    }
}

pub fn describe_iam_instance_profile_associations(
    ctx: &Ctx<'_>,
    input: &Value,
) -> ApiResult<Output> {
    let req: dto::DescribeIamInstanceProfileAssociationsRequest = typed(input)?;
    let ids = req.association_ids.unwrap_or_default();
    let scope = ctx.scope();
    let mut all: Vec<Row> = ctx
        .store
        .read(|v| v.list::<Instance>(&scope))
        .into_iter()
        .filter(|i| i.state(ctx.clock) != State::Terminated)
        .filter_map(|i| i.profile.clone().map(|p| Row(i.id.clone(), p)))
        .collect();
    all.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    fn id(r: &Row) -> &str {
        &r.1.id
    }
    common::require_all(&all, &ids, id, association_not_found)?;
    let kept = common::kept(all, input, &ids, id)?;
    let (page, next) = common::paginate(kept, input, (5, 1000), !ids.is_empty(), |r| id(r).into())?;
    Ok(Output::new(
        dto::DescribeIamInstanceProfileAssociationsResult {
            iam_instance_profile_associations: Some(
                page.iter().map(|r| r.1.out(&r.0, "associated")).collect(),
            ),
            next_token: next,
        },
    ))
}

/// RunInstances' `IamInstanceProfile`, when given.
pub(super) fn at_launch(
    ctx: &Ctx<'_>,
    tx: &Tx<'_>,
    input: &Value,
) -> ApiResult<Option<ProfileAssociation>> {
    let Some(spec) = input.get("IamInstanceProfile") else {
        return Ok(None);
    };
    let spec = dto::IamInstanceProfileSpecification {
        arn: input::str(spec, "Arn").map(str::to_owned),
        name: input::str(spec, "Name").map(str::to_owned),
    };
    ProfileAssociation::new(ctx, tx, &spec).map(Some)
}
