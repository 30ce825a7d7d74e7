return await Aica.Cli.AicaApp.RunAsync(args);
