//! The authoritative DNS server (hickory-server): one zone handler per served zone, each asking
//! `airlock_services::dns` at query time, so answers follow the API immediately.

use airlock_services::dns::{self, Answer};
use hickory_server::net::runtime::Time;
use hickory_server::net::NetError;
use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, CNAME, NS, SOA};
use hickory_server::proto::rr::Record;
use hickory_server::proto::rr::{
    LowerName, Name, RData, RecordSet, RecordType, TSigResponseContext,
};
use hickory_server::server::{Request, RequestHandler, RequestInfo, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use hickory_server::zone_handler::{
    AuthLookup, AxfrPolicy, Catalog, LookupControlFlow, LookupError, LookupOptions, LookupRecords,
    ZoneHandler, ZoneTransfer, ZoneType,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

/// How many aliases an answer follows.
const MAX_CHAIN: usize = 8;

pub use crate::Source;

struct Zone {
    origin: LowerName,
    source: Arc<Source>,
}

fn name(s: &str) -> Name {
    let mut n = Name::from_ascii(s).unwrap_or_else(|_| Name::root());
    n.set_fqdn(true);
    n
}

fn rrset(owner: &Name, rdatas: Vec<RData>) -> Arc<RecordSet> {
    let rtype = rdatas
        .first()
        .map(RData::record_type)
        .unwrap_or(RecordType::A);
    let mut set = RecordSet::with_ttl(owner.clone(), rtype, dns::TTL);
    for r in rdatas {
        set.add_rdata(r);
    }
    Arc::new(set)
}

impl Zone {
    fn soa(&self) -> Arc<RecordSet> {
        let origin = Name::from(&self.origin);
        rrset(
            &origin,
            vec![RData::SOA(SOA::new(
                name("ns-1536.awsdns-00.co.uk."),
                name("awsdns-hostmaster.amazon.com."),
                1,
                7200,
                900,
                1_209_600,
                dns::TTL,
            ))],
        )
    }

    fn lookup_name(&self, n: &str) -> Answer {
        let s = &self.source;
        dns::lookup(
            (*s.store).as_ref(),
            &s.config,
            time::OffsetDateTime::now_utc(),
            n,
        )
    }

    fn resolve(
        &self,
        qname: &LowerName,
        rtype: RecordType,
        opts: LookupOptions,
    ) -> Result<AuthLookup, LookupError> {
        if !self.origin.zone_of(qname) || matches!(rtype, RecordType::AXFR | RecordType::IXFR) {
            return Err(LookupError::from(ResponseCode::Refused));
        }
        let owner = Name::from(qname);
        if qname == &self.origin {
            return match rtype {
                RecordType::SOA => Ok(AuthLookup::answers(
                    LookupRecords::new(opts, self.soa()),
                    None,
                )),
                RecordType::NS => Ok(AuthLookup::answers(
                    LookupRecords::new(
                        opts,
                        rrset(
                            &owner,
                            vec![RData::NS(NS(name("ns-1536.awsdns-00.co.uk.")))],
                        ),
                    ),
                    None,
                )),
                _ => Err(LookupError::NameExists),
            };
        }
        let text = owner.to_ascii().trim_end_matches('.').to_ascii_lowercase();
        match self.lookup_name(&text) {
            Answer::NxDomain => Err(LookupError::from(ResponseCode::NXDomain)),
            Answer::A(ips) => match rtype {
                RecordType::A | RecordType::ANY => Ok(AuthLookup::answers(
                    LookupRecords::new(
                        opts,
                        rrset(&owner, ips.into_iter().map(|ip| RData::A(A(ip))).collect()),
                    ),
                    None,
                )),
                _ => Err(LookupError::NameExists),
            },
            Answer::Cname(target) => {
                let mut chain = vec![rrset(&owner, vec![RData::CNAME(CNAME(name(&target)))])];
                if matches!(rtype, RecordType::CNAME | RecordType::ANY) {
                    return Ok(AuthLookup::answers(LookupRecords::many(opts, chain), None));
                }
                // Follow the chain while it stays in Airlock's zones, as AWS's servers do.
                let mut next = target;
                while chain.len() < MAX_CHAIN && dns::zone_of(&next).is_some() {
                    let owner = name(&next);
                    match self.lookup_name(&next) {
                        Answer::Cname(t) => {
                            chain.push(rrset(&owner, vec![RData::CNAME(CNAME(name(&t)))]));
                            next = t;
                        }
                        Answer::A(ips) if rtype == RecordType::A => {
                            chain.push(rrset(
                                &owner,
                                ips.into_iter().map(|ip| RData::A(A(ip))).collect(),
                            ));
                            break;
                        }
                        _ => break,
                    }
                }
                Ok(AuthLookup::answers(LookupRecords::many(opts, chain), None))
            }
        }
    }
}

#[async_trait::async_trait]
impl ZoneHandler for Zone {
    fn zone_type(&self) -> ZoneType {
        ZoneType::Primary
    }

    fn axfr_policy(&self) -> AxfrPolicy {
        AxfrPolicy::Deny
    }

    fn origin(&self) -> &LowerName {
        &self.origin
    }

    async fn lookup(
        &self,
        name: &LowerName,
        rtype: RecordType,
        _info: Option<&RequestInfo<'_>>,
        opts: LookupOptions,
    ) -> LookupControlFlow<AuthLookup> {
        LookupControlFlow::Continue(self.resolve(name, rtype, opts))
    }

    async fn search(
        &self,
        request: &Request,
        opts: LookupOptions,
    ) -> (LookupControlFlow<AuthLookup>, Option<TSigResponseContext>) {
        let info = match request.request_info() {
            Ok(info) => info,
            Err(e) => return (LookupControlFlow::Break(Err(e)), None),
        };
        let flow = self
            .lookup(
                info.query.name(),
                info.query.query_type(),
                Some(&info),
                opts,
            )
            .await;
        (flow, None)
    }

    async fn zone_transfer(
        &self,
        _request: &Request,
        _opts: LookupOptions,
        _now: u64,
    ) -> Option<(
        Result<ZoneTransfer, LookupError>,
        Option<TSigResponseContext>,
    )> {
        Some((Err(LookupError::from(ResponseCode::Refused)), None))
    }

    async fn nsec_records(
        &self,
        _name: &LowerName,
        _opts: LookupOptions,
    ) -> LookupControlFlow<AuthLookup> {
        LookupControlFlow::Continue(Ok(AuthLookup::default()))
    }
}

/// The catalog, answering with RA set when recursion was desired: clients reach Airlock as they
/// reach the VPC resolver or their own, which recurse, and `dig` would otherwise warn
/// "recursion requested but not available".
struct Authoritative(Catalog);

#[async_trait::async_trait]
impl RequestHandler for Authoritative {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response: R,
    ) -> ResponseInfo {
        let desired = request.metadata.recursion_desired;
        self.0
            .handle_request::<_, T>(
                request,
                WithRa {
                    inner: response,
                    desired,
                },
            )
            .await
    }
}

#[derive(Clone)]
struct WithRa<R> {
    inner: R,
    desired: bool,
}

#[async_trait::async_trait]
impl<R: ResponseHandler> ResponseHandler for WithRa<R> {
    async fn send_response<'a>(
        &mut self,
        mut response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        response.metadata_mut().recursion_available = self.desired;
        self.inner.send_response(response).await
    }
}

/// A running DNS server.
pub struct DnsServer {
    pub addr: SocketAddr,
    server: hickory_server::Server<Authoritative>,
}

impl DnsServer {
    /// Binds UDP and TCP on `addr` and answers for Airlock's zones.
    pub async fn start(addr: SocketAddr, source: Source) -> std::io::Result<DnsServer> {
        let source = Arc::new(source);
        let mut catalog = Catalog::new();
        for z in dns::ZONES {
            let origin = LowerName::from(name(z));
            catalog.upsert(
                origin.clone(),
                vec![Arc::new(Zone {
                    origin,
                    source: source.clone(),
                }) as Arc<dyn ZoneHandler>],
            );
        }
        let udp = UdpSocket::bind(addr).await?;
        let addr = udp.local_addr()?;
        let tcp = TcpListener::bind(addr).await?;
        let mut server = hickory_server::Server::new(Authoritative(catalog));
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(10), 32);
        Ok(DnsServer { addr, server })
    }

    pub async fn stop(mut self) {
        let _ = self.server.shutdown_gracefully().await;
    }
}

/// The query path without sockets: parses `packet` as a DNS message and answers each question
/// from the served zones. Returns, per question, the number of answer records or the response
/// code. The fuzz target (`fuzz/`) and the tests drive it with arbitrary bytes.
pub fn resolve_packet(source: Arc<Source>, packet: &[u8]) -> Vec<Result<usize, ResponseCode>> {
    use hickory_server::proto::op::Message;
    use hickory_server::proto::serialize::binary::BinDecodable;
    let Ok(message) = Message::from_bytes(packet) else {
        return vec![Err(ResponseCode::FormErr)];
    };
    message
        .queries
        .iter()
        .map(|q| {
            let qname = LowerName::from(q.name());
            let Some(zone) = dns::ZONES
                .iter()
                .map(|z| LowerName::from(name(z)))
                .find(|z| z.zone_of(&qname))
            else {
                return Err(ResponseCode::Refused);
            };
            let zone = Zone {
                origin: zone,
                source: source.clone(),
            };
            match zone.resolve(&qname, q.query_type(), LookupOptions::default()) {
                Ok(AuthLookup::Records { answers, .. }) => Ok(answers.iter().count()),
                Ok(_) => Ok(0),
                Err(e) if e.is_nx_domain() => Err(ResponseCode::NXDomain),
                Err(LookupError::NameExists) => Ok(0),
                Err(_) => Err(ResponseCode::Refused),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_services::Config;
    use airlock_store::Store;
    use hickory_server::proto::op::{Message, MessageType, OpCode, Query};
    use hickory_server::proto::serialize::binary::BinEncodable;

    fn source() -> Arc<Source> {
        let store = Arc::new(Store::ephemeral(&airlock_services::record_kinds()));
        Arc::new(Source {
            store: Arc::new(StoreRef(store)),
            config: Config::default(),
        })
    }

    struct StoreRef(Arc<Store>);
    impl AsRef<Store> for StoreRef {
        fn as_ref(&self) -> &Store {
            &self.0
        }
    }

    fn packet(n: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::new(1, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(Name::from_ascii(n).unwrap(), t));
        m.to_bytes().unwrap()
    }

    #[test]
    fn zones_answer_and_others_are_refused() {
        let s = source();
        assert_eq!(
            resolve_packet(s.clone(), &packet("vpce.amazonaws.com.", RecordType::SOA)),
            vec![Ok(1)]
        );
        assert_eq!(
            resolve_packet(s.clone(), &packet("x.vpce.amazonaws.com.", RecordType::A)),
            vec![Err(ResponseCode::NXDomain)]
        );
        assert_eq!(
            resolve_packet(s.clone(), &packet("example.com.", RecordType::A)),
            vec![Err(ResponseCode::Refused)]
        );
        assert_eq!(
            resolve_packet(s, b"\x00\x01garbage"),
            vec![Err(ResponseCode::FormErr)]
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let s = source();
        // A deterministic sweep of mutated packets (the fuzz target explores further).
        let base = packet(
            "vpce-0123456789abcdef0-abcdefgh-us-west-2a.vpce-svc-1.us-west-2.vpce.amazonaws.com.",
            RecordType::A,
        );
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut p = base.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % p.len();
                p[i] = (seed >> 32) as u8;
            }
            p.truncate(((seed >> 40) as usize) % (p.len() + 1));
            let _ = resolve_packet(s.clone(), &p);
        }
    }
}
