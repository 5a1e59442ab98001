//! `lugh ctl status|swap|kill|hang|stop`: one request on the control
//! socket of a running `lugh run`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use super::print;
use crate::cli::CtlAction;

pub fn ctl(socket: Option<PathBuf>, json: bool, action: &CtlAction) -> anyhow::Result<ExitCode> {
    let socket = socket.unwrap_or_else(lugh_system::system::default_socket);
    let req = match action {
        CtlAction::Status => json!({"cmd": "status"}),
        CtlAction::Swap { to } => json!({"cmd": "swap", "to": to}),
        CtlAction::Kill { service } => json!({"cmd": "kill", "service": service}),
        CtlAction::Hang { service } => json!({"cmd": "hang", "service": service}),
        CtlAction::Stop => json!({"cmd": "stop"}),
    };
    let answer = lugh_system::system::ctl(&socket, &req).map_err(anyhow::Error::msg)?;
    if answer["ok"] == json!(false) {
        bail!("{}", answer["error"].as_str().unwrap_or("refused"));
    }
    print(json, answer);
    Ok(ExitCode::SUCCESS)
}
