-- LÖVE configuration. HOTRELOAD_HEADLESS=1 switches the window and the
-- graphics, audio and input modules off, so the game also runs on a machine
-- without a display (the attach tests run it that way).
function love.conf(t)
  t.identity = 'hotreload-love-example'
  t.version = '11.4'
  t.console = false
  if os.getenv('HOTRELOAD_HEADLESS') == '1' then
    t.window = false
    t.modules.window = false
    t.modules.graphics = false
    t.modules.audio = false
    t.modules.sound = false
    t.modules.joystick = false
    t.modules.keyboard = false
    t.modules.mouse = false
    t.modules.touch = false
    t.modules.video = false
    t.modules.font = false
    t.modules.image = false
  end
end
