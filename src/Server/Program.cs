using RecurrentDepth.Server.Hosting;

// An OpenAI-compatible server over a recurrent-depth model: `dotnet run --project src/Server` serves the bundled
// micro model on http://127.0.0.1:8000. Configuration: appsettings.json, environment (RecurrentDepth__ModelPath,
// Server__ApiKeys__0, ...), command line. See docs/server.md.
var builder = WebApplication.CreateBuilder(args);
builder.AddRecurrentDepthServer();

var app = builder.Build();
app.MapRecurrentDepthServer();
app.Run();

/// <summary>The server's entry point (public so tests can host it).</summary>
public partial class Program;
