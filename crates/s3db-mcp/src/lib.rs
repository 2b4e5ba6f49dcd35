#![doc = include_str!("../README.md")]

mod params;
#[cfg(feature = "testing")]
pub mod testing;
mod tools;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use s3db_core::Database;
use s3db_storage::layers::MetricsRecorder;
use serde_json::Value;
use tokio::net::TcpListener;

/// The path the streamable HTTP transport answers on ([`router`], [`serve_http`]).
pub const HTTP_PATH: &str = "/mcp";

/// An MCP server over one database: its tools read and write the database's resources.
/// Cheap to clone (each HTTP session gets a clone).
#[derive(Clone)]
pub struct S3dbMcp {
    db: Database,
    read_only: bool,
    metrics: Option<MetricsRecorder>,
    tools: ToolRouter<S3dbMcp>,
}

impl std::fmt::Debug for S3dbMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3dbMcp")
            .field("read_only", &self.read_only)
            .field("tools", &self.tools.list_all().len())
            .finish_non_exhaustive()
    }
}

impl S3dbMcp {
    /// A server over `db`. When `read_only`, the tools that write (every tool not annotated
    /// `readOnlyHint`) are not listed, and a call of one is refused with a tool error.
    pub fn new(db: Database, read_only: bool) -> Self {
        let mut tools = Self::tool_router();
        if read_only {
            let writers: Vec<String> = tools
                .list_all()
                .into_iter()
                .filter(|tool| !is_read_only(tool))
                .map(|tool| tool.name.into_owned())
                .collect();
            for name in writers {
                tools.disable_route(name);
            }
        }
        S3dbMcp {
            db,
            read_only,
            metrics: None,
            tools,
        }
    }

    /// Reports the requests counted by `metrics` (the metrics layer of the database's
    /// storage stack) in `dbGetStats`, with their estimated cost.
    pub fn with_metrics(mut self, metrics: MetricsRecorder) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Whether the server refuses the tools that write.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The tools this server lists (the reading ones only when read-only).
    pub fn tools(&self) -> Vec<Tool> {
        self.tools.list_all()
    }
}

/// Whether a tool only reads (its `readOnlyHint` annotation).
fn is_read_only(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

impl ServerHandler for S3dbMcp {
    fn get_info(&self) -> ServerConfig {
        let mode = if self.read_only { " (read-only)" } else { "" };
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("s3db", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "s3db database{mode}: documents in resources stored as S3 objects. Start with \
                 dbListResources and dbInspectResource; list by partition (resourceList with \
                 partition + partitionValues) rather than scanning with resourceQuery."
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if self.tools.is_disabled(&request.name) {
            let message = format!(
                "Refused: tool {:?} writes and this server is read-only (started with --read-only)",
                request.name
            );
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        // serde's message for a mistyped argument does not name it: name it here.
        let mistyped = self
            .tools
            .get(&request.name)
            .and_then(|tool| mistyped_argument(tool, request.arguments.as_ref()?));
        if let Some(message) = mistyped {
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        self.tools
            .call(ToolCallContext::new(self, request, context))
            .await
    }
}

/// The first argument whose JSON type is not one its property in the tool's input schema
/// allows, as a tool error message naming it.
fn mistyped_argument(tool: &Tool, arguments: &JsonObject) -> Option<String> {
    let properties = tool.input_schema.get("properties")?.as_object()?;
    arguments.iter().find_map(|(name, value)| {
        let types: Vec<&str> = match properties.get(name)?.get("type")? {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return None,
        };
        let matches = |t: &&str| match *t {
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            "null" => value.is_null(),
            _ => true,
        };
        (!types.iter().any(matches)).then(|| {
            format!(
                "InvalidInput: argument {name:?} of {} must be {}, not {value}",
                tool.name,
                types.join(" or ")
            )
        })
    })
}

/// Serves `server` on stdin/stdout until the client closes them.
pub async fn serve_stdio(server: S3dbMcp) -> std::io::Result<()> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// An axum router answering the MCP streamable HTTP transport on [`HTTP_PATH`], to serve
/// alone ([`serve_http`]) or to merge into an application's router. Each session gets a
/// clone of `server`. Only loopback `Host` headers are accepted (rmcp's default, against
/// DNS rebinding).
pub fn router(server: S3dbMcp) -> axum::Router {
    let service: StreamableHttpService<S3dbMcp, LocalSessionManager> = StreamableHttpService::new(
        move || Ok(server.clone()),
        Default::default(),
        StreamableHttpServerConfig::default(),
    );
    axum::Router::new().nest_service(HTTP_PATH, service)
}

/// Serves `server` over streamable HTTP on `listener` (at [`HTTP_PATH`]) until the task is
/// dropped or the process stops.
pub async fn serve_http(server: S3dbMcp, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(server)).await
}
