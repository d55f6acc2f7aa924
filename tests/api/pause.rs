//! Human pauses over HTTP: 202 with the pause point, resume input checked
//! against its schema, one resume per pause point.

use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::flows;
use crate::harness::shared;

#[test]
fn a_human_pause_is_202_and_resumes_once_with_valid_input() {
    let server = shared();
    let token = server.token("pause-human");
    let mut request = flows::inline("approval", flows::approval());
    request["options"] = json!({"executionId": "approval-1"});
    let paused = server.execute(&token, &request).expect(202);
    assert_eq!(paused["status"], "paused", "{paused:#}");
    assert_eq!(paused["executionId"], "approval-1");
    assert!(paused["output"].get("after").is_none(), "{paused:#}");
    let points = paused["pausePoints"].as_array().expect("pausePoints");
    assert_eq!(points.len(), 1, "{paused:#}");
    let point = &points[0];
    assert_eq!(point["blockId"], "approve");
    assert_eq!(point["blockName"], "Approve");
    assert_eq!(point["pauseKind"], "human");
    assert_eq!(point["resumeStatus"], "paused");
    assert_eq!(point["response"], json!({"question": "Ship it?"}));
    assert_eq!(point["inputSchema"], flows::approval_schema());
    assert!(point["registeredAt"].is_string(), "{point:#}");
    let context_id = point["contextId"].as_str().expect("contextId").to_string();

    let stored = server.get("/v1/executions/approval-1", &token).expect(200);
    assert_eq!(stored["status"], "paused");

    // Input that does not match the schema: refused, the point stays open.
    for bad in [json!({"approved": "yes"}), json!({}), json!({"note": "no decision"})] {
        let refused = server
            .post("/v1/executions/approval-1/resume", &token, &json!({"contextId": context_id, "input": bad}))
            .expect_error(400, "invalid_resume_input");
        assert!(refused["error"].as_str().unwrap().contains("approved"), "{refused:#}");
    }
    // A pause point that does not exist.
    server
        .post(
            "/v1/executions/approval-1/resume",
            &token,
            &json!({"contextId": "no-such-context", "input": {"approved": true}}),
        )
        .expect_error(404, "not_found");
    assert_eq!(server.get("/v1/executions/approval-1", &token).expect(200)["status"], "paused");

    let done = server
        .post(
            "/v1/executions/approval-1/resume",
            &token,
            &json!({"contextId": context_id, "input": {"approved": true}}),
        )
        .expect(200);
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["success"], true);
    assert_eq!(done["executionId"], "approval-1");
    assert_eq!(done["output"]["approve"]["approved"], true, "{done:#}");
    assert!(done["output"]["approve"]["submittedAt"].is_string(), "{done:#}");
    assert_eq!(done["output"]["after"]["result"], "shipped", "{done:#}");
    let point = done["pausePoints"].as_array().unwrap().iter().find(|p| p["contextId"] == context_id.as_str());
    if let Some(point) = point {
        assert_eq!(point["resumeStatus"], "resumed", "{done:#}");
    }

    // The same pause point again: a conflict, and nothing changes.
    server
        .post(
            "/v1/executions/approval-1/resume",
            &token,
            &json!({"contextId": context_id, "input": {"approved": false}}),
        )
        .expect(409);
    let stored = server.get("/v1/executions/approval-1", &token).expect(200);
    assert_eq!(stored["status"], "completed");
    assert_eq!(stored["output"]["after"]["result"], "shipped");
}

#[test]
fn two_concurrent_resumes_of_one_pause_point_make_one_200_and_one_409() {
    let server = shared();
    let token = server.token("pause-race");
    let mut request = flows::inline("approval", flows::approval());
    request["options"] = json!({"executionId": "race-1"});
    let paused = server.execute(&token, &request).expect(202);
    let context_id = paused["pausePoints"][0]["contextId"].as_str().unwrap().to_string();

    let barrier = Arc::new(Barrier::new(2));
    let racers: Vec<_> = [true, false]
        .into_iter()
        .map(|approved| {
            let barrier = barrier.clone();
            let token = token.clone();
            let body = json!({"contextId": context_id, "input": {"approved": approved}});
            std::thread::spawn(move || {
                barrier.wait();
                let response = shared().post("/v1/executions/race-1/resume", &token, &body);
                (response.status, approved, response.text)
            })
        })
        .collect();
    let mut outcomes: Vec<_> = racers.into_iter().map(|racer| racer.join().expect("racer")).collect();
    outcomes.sort();
    let statuses: Vec<u16> = outcomes.iter().map(|(status, ..)| *status).collect();
    assert_eq!(statuses, vec![200, 409], "{outcomes:#?}");

    let winner_approved = outcomes[0].1;
    let stored = server.get("/v1/executions/race-1", &token).expect(200);
    assert_eq!(stored["status"], "completed", "{stored:#}");
    assert_eq!(
        stored["output"]["approve"]["approved"], winner_approved,
        "the winner's input is the one used: {stored:#}"
    );
    assert_eq!(stored["output"]["after"]["result"], if winner_approved { "shipped" } else { "held" });
}
