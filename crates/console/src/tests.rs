use super::*;
use airlock_services::{Config, Ctx};
use airlock_store::Store;
use serde_json::json;

const ACCOUNT: &str = "123456789012";

fn store() -> Store {
    Store::ephemeral(&airlock_services::record_kinds())
}

fn ctx<'a>(store: &'a Store, config: &'a Config, region: &str) -> Ctx<'a> {
    let root = airlock_services::auth::root(ACCOUNT, "test");
    Ctx::internal(
        store,
        config,
        root,
        region,
        config.clock(OffsetDateTime::now_utc()),
    )
}

fn call(ctx: &Ctx<'_>, service: &str, op: &str, input: Value) -> Value {
    airlock_services::call(ctx, service, op, &input)
        .expect("implemented")
        .unwrap_or_else(|e| panic!("{op}: {e:?}"))
        .to_value()
}

/// A VPC (named with markup) with two subnets and an interface endpoint in both.
fn network(ctx: &Ctx<'_>) -> (String, Vec<String>) {
    let vpc = call(
        ctx,
        "ec2",
        "CreateVpc",
        json!({"CidrBlock": "10.0.0.0/16",
        "TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "<script>alert(1)</script>"}]}]}),
    );
    let vpc = vpc["Vpc"]["VpcId"].as_str().unwrap().to_owned();
    let subnets: Vec<String> = ["10.0.1.0/24", "10.0.2.0/24"]
        .iter()
        .zip(["a", "b"])
        .map(|(cidr, az)| {
            let az = format!("{}{az}", ctx.region);
            let s = call(
                ctx,
                "ec2",
                "CreateSubnet",
                json!({"VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": az}),
            );
            s["Subnet"]["SubnetId"].as_str().unwrap().to_owned()
        })
        .collect();
    let e = call(
        ctx,
        "ec2",
        "CreateVpcEndpoint",
        json!({"VpcId": vpc, "VpcEndpointType": "Interface",
        "ServiceName": format!("com.amazonaws.{}.sts", ctx.region), "PrivateDnsEnabled": false, "SubnetIds": subnets}),
    );
    let id = e["VpcEndpoint"]["VpcEndpointId"]
        .as_str()
        .unwrap()
        .to_owned();
    let enis: Vec<Value> = e["VpcEndpoint"]["NetworkInterfaceIds"]
        .as_array()
        .unwrap()
        .clone();
    let ips = call(
        ctx,
        "ec2",
        "DescribeNetworkInterfaces",
        json!({"NetworkInterfaceIds": enis}),
    );
    let ips = ips["NetworkInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["PrivateIpAddress"].as_str().unwrap().to_owned())
        .collect();
    (id, ips)
}

fn get(store: &Store, config: &Config, path: &str, query: &str) -> Page {
    answer(
        store,
        config,
        OffsetDateTime::now_utc(),
        &Site::default(),
        path,
        query,
        None,
    )
}

/// The page's procedure: the Endpoints page of the chosen region lists the endpoint with both
/// of its private addresses; another region's page does not.
#[test]
fn the_endpoints_page_shows_the_region_s_endpoints_with_their_addresses() {
    let (store, config) = (store(), Config::default());
    let (id, ips) = network(&ctx(&store, &config, "us-west-2"));
    assert_eq!(ips.len(), 2);
    let page = get(
        &store,
        &config,
        "vpc/endpoints",
        &format!("account={ACCOUNT}&region=us-west-2"),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&id), "{}", page.body);
    for ip in &ips {
        assert!(page.body.contains(ip.as_str()), "{ip} in {}", page.body);
    }
    assert!(page.body.contains("<option selected>us-west-2</option>"));
    assert!(page
        .body
        .contains(&format!("<option selected>{ACCOUNT}</option>")));
    let other = get(
        &store,
        &config,
        "vpc/endpoints",
        &format!("account={ACCOUNT}&region=eu-west-1"),
    );
    assert_eq!(other.status, 200);
    assert!(!other.body.contains(&id));
    // Its detail page: the DNS names, both subnets' addresses, the policy.
    let detail = get(
        &store,
        &config,
        &format!("vpc/endpoints/{id}"),
        &format!("account={ACCOUNT}&region=us-west-2"),
    );
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert!(
        detail.body.contains("vpce.amazonaws.com") || detail.body.contains(".vpce."),
        "{}",
        detail.body
    );
    assert!(ips.iter().all(|ip| detail.body.contains(ip.as_str())));
    assert!(
        detail
            .body
            .contains("&quot;Effect&quot;: &quot;Allow&quot;"),
        "{}",
        detail.body
    );
    let missing = get(
        &store,
        &config,
        "vpc/endpoints/vpce-0123456789abcdef0",
        &format!("account={ACCOUNT}&region=us-west-2"),
    );
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("InvalidVpcEndpointId.NotFound"));
}

/// Without a region in the URL the console opens on a region where the account has state.
#[test]
fn the_default_region_is_one_with_state() {
    let (store, config) = (store(), Config::default());
    let (id, _) = network(&ctx(&store, &config, "eu-west-1"));
    // A bucket named like an account, with an object: its scopes are S3's, not an account's.
    let s3 = ctx(&store, &config, "us-east-1");
    call(&s3, "s3", "CreateBucket", json!({"Bucket": "999999999999"}));
    call(
        &s3,
        "s3",
        "PutObject",
        json!({"Bucket": "999999999999", "Key": "k"}),
    );
    let page = get(&store, &config, "vpc/endpoints", "");
    assert!(!page.body.contains("999999999999"), "{}", page.body);
    assert!(page.body.contains(&format!("<option>{ACCOUNT}</option>")));
    let page = get(&store, &config, "vpc/endpoints", "account=999999999999");
    assert!(
        page.body.contains("<option selected>us-east-1</option>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<option selected>999999999999</option>"));
    let page = get(
        &store,
        &config,
        "vpc/endpoints",
        &format!("account={ACCOUNT}"),
    );
    assert!(page.body.contains(&id));
    assert!(page.body.contains("<option selected>eu-west-1</option>"));
    let home = get(&store, &config, "", "");
    assert_eq!(home.status, 303);
    assert!(home
        .location
        .unwrap()
        .starts_with("/_airlock/console/vpc/endpoints?account=000000000000"));
}

/// Reading every page changes nothing: not even the default network a first EC2 request of a
/// region makes.
#[test]
fn pages_never_write() {
    let (store, config) = (store(), Config::default());
    network(&ctx(&store, &config, "us-west-2"));
    let before = store.read(|v| (v.generation(), v.scopes()));
    for (_, pages) in NAV {
        for (_, path) in *pages {
            for region in ["us-west-2", "ap-south-1"] {
                let page = get(
                    &store,
                    &config,
                    path,
                    &format!("account={ACCOUNT}&region={region}"),
                );
                assert_eq!(page.status, 200, "{path} in {region}: {}", page.body);
            }
        }
    }
    assert_eq!(store.read(|v| (v.generation(), v.scopes())), before);
}

/// Every page of the navigation says under its heading what it lists: the region, or `global`
/// (IAM roles, S3 buckets).
#[test]
fn list_pages_name_their_region() {
    let (store, config) = (store(), Config::default());
    for (_, pages) in NAV {
        for (_, path) in *pages {
            let q = format!("account={ACCOUNT}&region=ap-south-1");
            let page = get(&store, &config, path, &q);
            let global = path.starts_with("iam/") || path.starts_with("s3/");
            let sub = if global { "global" } else { "ap-south-1" };
            let heading = format!("<span class=\"sub\">{sub}</span></h1>");
            assert!(page.body.contains(&heading), "{path}: {}", page.body);
        }
    }
}

/// Whatever a resource is named, it is shown as text.
#[test]
fn names_are_escaped() {
    let (store, config) = (store(), Config::default());
    network(&ctx(&store, &config, "us-west-2"));
    let page = get(
        &store,
        &config,
        "vpc/vpcs",
        &format!("account={ACCOUNT}&region=us-west-2&q=%3Cscript"),
    );
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"));
    assert!(
        page.body.contains("1 of 2"),
        "the filter keeps the named VPC only: {}",
        page.body
    );
}

/// The script's fragment is `<main>`'s content, versioned as the full page is.
#[test]
fn fragments_are_main_with_its_version() {
    let (store, config) = (store(), Config::default());
    network(&ctx(&store, &config, "us-west-2"));
    let q = format!("account={ACCOUNT}&region=us-west-2");
    let full = get(&store, &config, "vpc/endpoints", &q);
    let part = get(&store, &config, "vpc/endpoints", &format!("{q}&fragment=1"));
    assert_eq!(full.version, part.version);
    assert!(part.body.starts_with("<h1>Endpoints"));
    assert!(full
        .body
        .contains(&format!("data-version=\"{}\"", full.version.unwrap())));
    assert!(full.body.contains(&part.body));
}

#[test]
fn bad_addresses_are_refused() {
    let (store, config) = (store(), Config::default());
    assert_eq!(
        get(&store, &config, "vpc/endpoints", "region=mars-1").status,
        400
    );
    assert_eq!(
        get(&store, &config, "vpc/endpoints", "account=12").status,
        400
    );
    assert_eq!(get(&store, &config, "vpc/nothing", "").status, 404);
    assert_eq!(get(&store, &config, "vpc/endpoints/a/b", "").status, 404);
    let css = get(&store, &config, "console.css", "");
    assert_eq!((css.status, css.cacheable), (200, true));
    assert!(get(&store, &config, "console.js", "")
        .body
        .contains("fragment"));
}

/// The one action: only with the page's CSRF token, only for an environment's `open`.
#[test]
fn the_open_action_needs_the_csrf_token() {
    let (store, config) = (store(), Config::default());
    let before = store.read(|v| v.generation());
    let site = Site {
        csrf: "s3cret".into(),
        https_port: 443,
        ..Site::default()
    };
    let act = |path: &str, form: &str| {
        answer(
            &store,
            &config,
            OffsetDateTime::now_utc(),
            &site,
            path,
            "region=us-west-2",
            Some(form.as_bytes()),
        )
    };
    assert_eq!(act("mwaa/environments/e/open", "csrf=guess").status, 403);
    assert_eq!(act("mwaa/environments/e/open", "").status, 403);
    assert_eq!(act("vpc/endpoints", "csrf=s3cret").status, 405);
    assert_eq!(act("mwaa/environments/a/b/open", "csrf=s3cret").status, 405);
    let missing = act("mwaa/environments/e/open", "csrf=s3cret");
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.body.contains("ResourceNotFoundException"));
    // A server without a secret refuses the form whatever it carries.
    let open = Site::default();
    let page = answer(
        &store,
        &config,
        OffsetDateTime::now_utc(),
        &open,
        "mwaa/environments/e/open",
        "",
        Some(b"csrf="),
    );
    assert_eq!(page.status, 403);
    assert_eq!(
        store.read(|v| v.generation()),
        before,
        "nothing was written"
    );
}
