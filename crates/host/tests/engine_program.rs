//! The main program file reloads too: its top level is not run again (it is
//! running), the functions it defined get the new code.

mod engine_common;
use engine_common::*;

const MAIN_V1: &str = r#"
local score = 0
function tick() score = score + 1 return "v1", score end
local function helper() return "h1" end
function use_helper() return helper() end
local handlers = { on_hit = function() return "hit1" end }
function fire() return handlers.on_hit() end
"#;

fn main_v2() -> String {
    MAIN_V1
        .replace("\"v1\"", "\"v2\"")
        .replace("h1", "h2")
        .replace("hit1", "hit2")
}

#[test]
fn functions_of_the_running_main_program_get_new_code_and_state_stays() {
    let vm = Vm::new(&[]);
    let path = vm.write("main.lua", MAIN_V1);
    vm.engine.borrow_mut().set_program(&path);
    let chunk = format!(
        "{MAIN_V1}\nassert(tick() == 'v1')\nlocal r, err = reload_path({p:?}, NEW_MAIN)\nassert(r, err)\nassert(r.module == 'main.lua', r.module)\nresult = r\nlocal v, n = tick()\nassert(v == 'v2', v)\nassert(n == 2, n)\nassert(use_helper() == 'h2')\nassert(fire() == 'hit2')\n",
        p = path.to_string_lossy()
    );
    vm.lua
        .globals()
        .set("NEW_MAIN", format!("{}\n{}", main_v2(), "-- edited"))
        .expect("set");
    vm.lua
        .load(chunk)
        .set_name(format!("@{}", path.display()))
        .exec()
        .unwrap_or_else(|e| panic!("program failed: {e}"));
    let changed: Vec<String> = vm.eval("result.changed");
    assert!(changed.iter().any(|n| n == "tick"), "{changed:?}");
    // Functions only the running top level names (its locals, and those in
    // its local tables) changed too and ran their new code.
    for name in ["helper", "handlers.on_hit"] {
        assert!(changed.iter().any(|n| n == name), "{name}: {changed:?}");
    }
    assert!(!changed.iter().any(|n| n == "use_helper"), "{changed:?}");
}

#[test]
fn a_syntax_error_in_the_main_program_changes_nothing() {
    let vm = Vm::new(&[]);
    let path = vm.write("main.lua", MAIN_V1);
    vm.engine.borrow_mut().set_program(&path);
    let chunk = format!(
        "{MAIN_V1}\nlocal r, err, kind, line = reload_path({p:?}, 'function tick( end')\nassert(r == nil)\nERR = kind .. ' ' .. tostring(line)\nassert(tick() == 'v1')\n",
        p = path.to_string_lossy()
    );
    vm.lua
        .load(chunk)
        .set_name(format!("@{}", path.display()))
        .exec()
        .unwrap_or_else(|e| panic!("program failed: {e}"));
    let err: String = vm.eval("ERR");
    assert_eq!(err, "compile 1");
}

#[test]
fn the_main_program_reloads_after_its_top_level_returned() {
    let vm = Vm::new(&[]);
    let path = vm.write("main.lua", MAIN_V1);
    vm.engine.borrow_mut().set_program(&path);
    // The host keeps the main chunk alive; so does this test.
    let main = vm
        .lua
        .load(MAIN_V1)
        .set_name(format!("@{}", path.display()))
        .into_function()
        .expect("compiles");
    main.call::<()>(()).expect("runs");
    vm.run("assert(tick() == 'v1')");
    vm.run(&format!(
        "local r, err = reload_path({:?}, NEW)\nassert(r, err)\nlocal v, n = tick()\nassert(v == 'v2' and n == 2)",
        path.to_string_lossy()
    )
    .replace("NEW", &format!("{:?}", main_v2())));
    drop(main);
}

#[test]
fn a_file_run_with_dofile_reloads_like_a_global_style_module() {
    let vm = Vm::new(&[]);
    let path = vm.write(
        "conf.lua",
        "settings = settings or { speed = 1 }\nfunction describe() return 'speed ' .. settings.speed end\n",
    );
    vm.run(&format!(
        "dofile({p:?}); settings.speed = 7; d = describe; assert(describe() == 'speed 7')",
        p = path.to_string_lossy()
    ));
    vm.write(
        "conf.lua",
        "settings = settings or { speed = 1 }\nfunction describe() return 'fast: ' .. settings.speed end\n",
    );
    vm.run(&format!(
        "local r, err = reload_path({p:?}); assert(r, err)\nassert(d() == 'fast: 7', d())",
        p = path.to_string_lossy()
    ));
}

#[test]
fn a_file_loaded_into_its_own_environment_reloads_into_it() {
    let vm = Vm::new(&[]);
    let path = vm.write("plugin.lua", "function greet() return 'hi' end\n");
    vm.run(&format!(
        // 5.1's loadfile takes no environment: setfenv gives it.
        "sandbox = {{}}\nlocal f = assert(loadfile({p:?}, 't', sandbox))\nif setfenv then setfenv(f, sandbox) end\nf()\ng = sandbox.greet\nassert(g() == 'hi' and greet == nil)",
        p = path.to_string_lossy()
    ));
    vm.run(&format!(
        "local r, err = reload_path({p:?}, \"function greet() return 'hello' end\")\nassert(r, err)\nassert(g() == 'hello' and sandbox.greet == g)\nassert(rawget(_G, 'greet') == nil, 'the globals are untouched')",
        p = path.to_string_lossy()
    ));
}
