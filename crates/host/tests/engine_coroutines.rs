//! Running code: suspended coroutines, frames on the stack, a loop that calls
//! into the module, and a reload from a debug hook while the program runs.

mod engine_common;
use engine_common::*;

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{HookTriggers, VmState};

#[test]
fn suspended_coroutines_keep_state_and_call_new_code_next_time() {
    let v1 = r#"
        local M = {}
        function M.step(x) return x + 1 end
        function M.worker()
          local total = 0
          while true do
            total = M.step(total)          -- looked up on every call
            coroutine.yield(total)
          end
        end
        return M
    "#;
    let vm = Vm::new(&[("w", v1)]);
    vm.run(
        r#"
        w = require("w")
        co = coroutine.create(w.worker)
        assert(select(2, coroutine.resume(co)) == 1)
        assert(select(2, coroutine.resume(co)) == 2)
        gen = coroutine.wrap(function() local s = w.step; while true do coroutine.yield(s(0)) end end)
        assert(gen() == 1)
        "#,
    );
    let body = vm.reload_ok("w", &v1.replace("x + 1", "x + 100"));
    assert_eq!(body.changed, ["w.step"]);
    assert!(
        body.warnings.iter().all(|w| w.kind == "runningFunction"),
        "{:?}",
        body.warnings
    );
    vm.run(
        r#"
        local ok, v = coroutine.resume(co)
        assert(ok and v == 102, "suspended coroutine: state kept, new code: " .. tostring(v))
        assert(gen() == 100, "local alias inside a suspended coroutine")
        "#,
    );
}

#[test]
fn a_running_function_keeps_its_code_until_it_returns() {
    let v1 = r#"
        local M = {}
        function M.run()
          local a = "old-before"
          reload("r", NEW_SOURCE)          -- the program reloads itself mid-call
          return a, M.tag()
        end
        function M.tag() return "tag1" end
        function M.version() return 1 end
        return M
    "#;
    let vm = Vm::new(&[("r", v1)]);
    vm.lua
        .globals()
        .set(
            "NEW_SOURCE",
            v1.replace("old-before", "new-before")
                .replace("tag1", "tag2")
                .replace("return 1", "return 2"),
        )
        .expect("set source");
    vm.run(
        r#"
        r = require("r")
        run = r.run
        local a, tag = r.run()
        assert(a == "old-before", "running frame keeps old code: " .. a)
        assert(tag == "tag2", "calls it makes after the reload reach new code")
        assert(r.version() == 2)
        local a2 = run()
        assert(a2 == "new-before", "next call of the once-running function runs new code: " .. a2)
        "#,
    );
}

#[test]
fn a_loop_calling_the_module_sees_new_code_on_its_next_iteration_reloaded_from_a_hook() {
    let v1 = "local M = {}\nfunction M.step(n) return n + 1 end\nreturn M\n";
    let vm = Vm::new(&[("loop", v1)]);
    let done: Rc<RefCell<Option<Result<dap::types::HotReloadResponseBody, String>>>> =
        Rc::new(RefCell::new(None));
    let engine = vm.engine.clone();
    let result = done.clone();
    vm.run("loop = require('loop'); ticks = 0; switched_at = nil");
    vm.lua
        .set_hook(
            // LuaJIT calls no hook in compiled code and compiles this loop after
            // about 56 iterations: the reload must come well before that (hot
            // counters are reset below, as one shared with code run before
            // could compile the loop sooner).
            HookTriggers::new().every_nth_instruction(100),
            move |lua, _| {
                let ticks: i64 = lua.globals().get("ticks")?;
                if ticks >= 5 && result.borrow().is_none() {
                    let args = dap::types::HotReloadArguments {
                        module: Some("loop".into()),
                        path: None,
                        source: Some(
                            "local M = {}\nfunction M.step(n) return n + 1000 end\nreturn M\n"
                                .into(),
                        ),
                    };
                    let r = engine
                        .borrow_mut()
                        .reload(lua, &args)
                        .map_err(|e| e.to_string());
                    *result.borrow_mut() = Some(r);
                }
                Ok(VmState::Continue)
            },
        )
        .expect("set hook");
    vm.run(
        r#"
        if jit then jit.opt.start("hotloop=56") end
        local step = loop.step
        local n = 0
        while n < 1000000 and ticks < 100000 do
          local before = n
          n = step(n)
          if n - before == 1000 and not switched_at then switched_at = ticks end
          ticks = ticks + 1
        end
        final = n
        "#,
    );
    vm.lua.remove_hook();
    let outcome = done.borrow_mut().take().expect("the hook reloaded");
    let body = outcome.expect("reload from a hook succeeds");
    assert_eq!(body.changed, ["loop.step"]);
    let switched: Option<i64> = vm.eval("switched_at");
    assert!(switched.is_some(), "the loop never saw the new code");
    let final_n: i64 = vm.eval("final");
    assert!(final_n >= 1_000_000, "{final_n}");
}

/// A factory of counters that yield each count (`n = n + 1` is the line
/// the tests' reloads change).
const COUNTING_FACTORY: &str = r#"
    local M = {}
    function M.make()
      local n = 0
      return function()
        while true do n = n + 1; coroutine.yield(n) end
      end
    end
    return M
"#;

#[test]
fn closures_of_a_factory_running_in_a_coroutine_keep_old_code_with_a_warning() {
    let v1 = COUNTING_FACTORY;
    let vm = Vm::new(&[("fa", v1)]);
    vm.run(
        r#"
        local fa = require("fa")
        body = fa.make()
        co = coroutine.create(body)
        assert(select(2, coroutine.resume(co)) == 1)
        idle = fa.make()
        "#,
    );
    let body = vm.reload_ok("fa", &v1.replace("n = n + 1", "n = n + 10"));
    assert!(
        body.warnings.iter().any(|w| w.kind == "runningClosures"),
        "{:?}",
        body.warnings
    );
    vm.run(
        r#"
        assert(select(2, coroutine.resume(co)) == 2, "the running closure keeps its code")
        local co2 = coroutine.create(idle)
        assert(select(2, coroutine.resume(co2)) == 10, "an idle closure gets the new code")
        "#,
    );
}

#[test]
fn a_thread_made_from_c_that_runs_a_module_function_is_not_swapped_under_it() {
    // mlua makes this thread with lua_newthread: the engine's coroutine
    // wrappers never see it. Its frame has an open upvalue (a local captured
    // by a closure), which is how the native side still finds it.
    let v1 = r#"
        local M = {}
        function M.gen()
          local count = 0
          local bump = function() count = count + 1 end
          while true do bump(); coroutine.yield("old", count) end
        end
        return M
    "#;
    let vm = Vm::new(&[("cg", v1)]);
    vm.run("cg = require('cg')");
    let gen: mlua::Function = vm.eval("cg.gen");
    let thread = vm.lua.create_thread(gen).expect("thread");
    let (tag, n): (String, i64) = thread.resume(()).expect("first resume");
    assert_eq!((tag.as_str(), n), ("old", 1));
    let body = vm.reload_ok(
        "cg",
        &v1.replace("\"old\"", "\"new\"")
            .replace("count + 1", "count + 100"),
    );
    assert!(
        body.warnings
            .iter()
            .any(|w| w.kind == "runningFunction" && w.line == Some(3)),
        "{:?}",
        body.warnings
    );
    let (tag, n): (String, i64) = thread.resume(()).expect("second resume");
    // The frame of gen keeps its code ("old"); `bump` is a closure gen made,
    // not running: like any factory product it now runs the new code.
    assert_eq!(
        (tag.as_str(), n),
        ("old", 101),
        "the running frame kept its code"
    );
    vm.run("local co = coroutine.create(cg.gen); local _, t, n = coroutine.resume(co); assert(t == 'new' and n == 100)");
}

#[test]
fn a_factory_product_running_in_a_thread_made_from_c_keeps_its_code() {
    // mlua makes this thread with lua_newthread: the engine does not know
    // it, and the product's frame holds no open upvalue, so only the pass
    // over the heap meets it (the pass may have given the product the new
    // code already: it must take it back).
    let v1 = COUNTING_FACTORY;
    let vm = Vm::new(&[("fp", v1)]);
    vm.run("fp = require('fp'); body = fp.make(); idle = fp.make()");
    let body: mlua::Function = vm.eval("body");
    let thread = vm.lua.create_thread(body).expect("thread");
    let n: i64 = thread.resume(()).expect("first resume");
    assert_eq!(n, 1);
    let reloaded = vm.reload_ok("fp", &v1.replace("n = n + 1", "n = n + 10"));
    assert!(
        reloaded
            .warnings
            .iter()
            .any(|w| w.kind == "runningClosures"),
        "{:?}",
        reloaded.warnings
    );
    let n: i64 = thread.resume(()).expect("second resume");
    assert_eq!(n, 2, "the running closure kept its code");
    vm.run(
        r#"
        local co = coroutine.create(idle)
        assert(select(2, coroutine.resume(co)) == 10, "an idle closure gets the new code")
        "#,
    );
}

#[test]
fn factory_products_get_new_code_with_reordered_upvalues_unless_running() {
    // v2 uses the product's upvalues in the other order: idle products get
    // their cells reordered by name, and the one running in a thread only
    // the pass meets keeps its code and its cells in the old order.
    let v1 = r#"
        local M = {}
        function M.make(a, b)
          return function()
            while true do coroutine.yield(a .. b) end
          end
        end
        return M
    "#;
    let v2 = r#"
        local M = {}
        function M.make(a, b)
          return function()
            while true do coroutine.yield(b .. a .. "!") end
          end
        end
        return M
    "#;
    let vm = Vm::new(&[("fo", v1)]);
    vm.run("fo = require('fo'); body = fo.make('x', 'y'); idle = fo.make('p', 'q')");
    let body: mlua::Function = vm.eval("body");
    let thread = vm.lua.create_thread(body).expect("thread");
    let s: String = thread.resume(()).expect("first resume");
    assert_eq!(s, "xy");
    vm.reload_ok("fo", v2);
    let s: String = thread.resume(()).expect("second resume");
    assert_eq!(s, "xy", "the running closure kept its code and cells");
    vm.run(
        r#"
        local co = coroutine.create(idle)
        local _, s = coroutine.resume(co)
        assert(s == "qp!", "an idle closure gets the new code: " .. tostring(s))
        "#,
    );
}
