-- The version of the Lua glue; the native module must report the same one.
return '0.1.0'
