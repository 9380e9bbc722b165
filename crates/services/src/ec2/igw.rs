//! Internet gateways.

use super::common::{self, one, Field, Filterable, Tag};
use super::vpc;
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InternetGateway {
    pub id: String,
    pub owner: String,
    pub vpc_id: Option<String>,
    pub tags: Vec<Tag>,
}

airlock_store::record!(InternetGateway, "ec2.internet_gateway", id);

impl InternetGateway {
    pub fn attached_to(&self, vpc_id: &str) -> bool {
        self.vpc_id.as_deref() == Some(vpc_id)
    }

    fn out(&self) -> dto::InternetGateway {
        let attachments = self.vpc_id.iter().map(|v| dto::InternetGatewayAttachment {
            vpc_id: Some(v.clone()),
            state: Some("available".into()),
        });
        dto::InternetGateway {
            internet_gateway_id: Some(self.id.clone()),
            owner_id: Some(self.owner.clone()),
            attachments: Some(attachments.collect()),
            tags: Some(common::tags_dto(&self.tags)),
        }
    }
}

impl Filterable for InternetGateway {
    fn field(&self, name: &str) -> Field {
        match name {
            "internet-gateway-id" => one(&self.id),
            "owner-id" => one(&self.owner),
            "attachment.vpc-id" => Some(self.vpc_id.iter().cloned().collect()),
            "attachment.state" => {
                Some(self.vpc_id.iter().map(|_| "available".to_owned()).collect())
            }
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

pub fn create(ctx: &Ctx<'_>, tx: &mut Tx<'_>, tags: Vec<Tag>) -> ApiResult<String> {
    let g = InternetGateway {
        id: ids::resource_id("igw"),
        owner: ctx.account().to_owned(),
        vpc_id: None,
        tags,
    };
    tx.put(&ctx.scope(), g.clone())?;
    Ok(g.id)
}

pub fn get(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<std::sync::Arc<InternetGateway>> {
    tx.get::<InternetGateway>(scope, id).ok_or_else(|| {
        common::not_found("InvalidInternetGatewayID.NotFound", "internetGateway", id)
    })
}

pub fn attach(tx: &mut Tx<'_>, scope: &Scope, id: &str, vpc_id: &str) -> ApiResult<()> {
    let mut g = (*get(tx, scope, id)?).clone();
    vpc::get_vpc(tx, scope, vpc_id)?;
    if let Some(v) = &g.vpc_id {
        return Err(ApiError::new(
            "Resource.AlreadyAssociated",
            format!("resource {id} is already attached to network {v}"),
        ));
    }
    if tx
        .list::<InternetGateway>(scope)
        .iter()
        .any(|o| o.attached_to(vpc_id))
    {
        return Err(ApiError::new(
            "Resource.AlreadyAssociated",
            format!("Network {vpc_id} already has an internet gateway attached"),
        ));
    }
    g.vpc_id = Some(vpc_id.to_owned());
    tx.put(scope, g)?;
    Ok(())
}

pub fn create_internet_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let tags = common::tags_from_specs(input, "internet-gateway")?;
    let scope = ctx.scope();
    let g = ctx.store.write(|tx| {
        let id = create(ctx, tx, tags)?;
        get(tx, &scope, &id)
    })?;
    Ok(Output::new(dto::CreateInternetGatewayResult {
        internet_gateway: Some(g.out()),
    }))
}

pub fn attach_internet_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::AttachInternetGatewayRequest = typed(input)?;
    let scope = ctx.scope();
    ctx.store
        .write(|tx| attach(tx, &scope, &req.internet_gateway_id, &req.vpc_id))?;
    Ok(Output::new(()))
}

pub fn detach_internet_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DetachInternetGatewayRequest = typed(input)?;
    let (id, vpc_id) = (req.internet_gateway_id.as_str(), req.vpc_id.as_str());
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut g = (*get(tx, &scope, id)?).clone();
        vpc::get_vpc(tx, &scope, vpc_id)?;
        if !g.attached_to(vpc_id) {
            return Err(ApiError::new("Gateway.NotAttached", format!("resource {id} is not attached to network {vpc_id}")));
        }
        let mapped = tx.list::<super::nat::Address>(&scope).iter().any(|a| {
            a.association.is_some() && a.vpc_id.as_deref() == Some(vpc_id)
        });
        if mapped {
            return Err(ApiError::new(
                "DependencyViolation",
                format!("Network {vpc_id} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."),
            ));
        }
        // An edge association routes the gateway's inbound traffic in this VPC: it goes first.
        let edge = tx.list::<super::routes::RouteTable>(&scope).iter().any(|t| {
            t.associations.iter().any(|a| a.gateway_id.as_deref() == Some(id))
        });
        if edge {
            return Err(ApiError::new(
                "DependencyViolation",
                format!("The internetGateway '{id}' is associated with a route table; disassociate it before detaching."),
            ));
        }
        g.vpc_id = None;
        tx.put(&scope, g)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn delete_internet_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteInternetGatewayRequest = typed(input)?;
    let id = req.internet_gateway_id.as_str();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let g = get(tx, &scope, id)?;
        if g.vpc_id.is_some() {
            return Err(common::dependency("internetGateway", id));
        }
        tx.delete::<InternetGateway>(&scope, id);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn describe_internet_gateways(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeInternetGatewaysRequest = typed(input)?;
    let ids = req.internet_gateway_ids.unwrap_or_default();
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<InternetGateway>(&scope));
    let missing = ("InvalidInternetGatewayID.NotFound", "internetGateway");
    let (page, next) = common::select(all, input, &ids, missing, (5, 1000))?;
    Ok(Output::new(dto::DescribeInternetGatewaysResult {
        internet_gateways: Some(page.iter().map(|g| g.out()).collect()),
        next_token: next,
    }))
}
