var code = await Aica.Cli.AicaApp.RunAsync(args);
Aica.Cli.Terminal.RestoreModes();
return code;
