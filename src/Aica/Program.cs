// Room for RootedFs to keep a descriptor per user directory (a quarter of the soft limit): recover and doctor on a
// server with 1000 users look up ~15 paths below each /data/users/U. 16384 stays far below systemd's hard limit.
Aica.Native.Sys.RaiseOpenFileLimit(16384);
var code = await Aica.Cli.AicaApp.RunAsync(args);
Aica.Cli.Terminal.RestoreModes();
return code;
