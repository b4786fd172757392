using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.SemanticKernel;

// The in-process library in an ASP.NET Core app: the model loads in the background when the app starts, the health
// checks tell a load balancer when it is ready, and one endpoint asks it through Semantic Kernel's chat service.
//   dotnet run --project samples/RecurrentDepth.WebSample
//   curl "http://127.0.0.1:5090/ask?q=3%2B7*9%2B3%3D&effort=high"
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRecurrentDepthModel(o =>
{
    // The bundled micro model unless RecurrentDepth:ModelPath names another checkpoint.
    if (string.IsNullOrWhiteSpace(o.ModelPath))
    {
        o.ModelPath = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");
    }
});
builder.Services.AddKernel().AddRecurrentDepthChatCompletion();
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5090");
}

var app = builder.Build();

// Liveness: the process answers. Readiness: the model's health check (Unhealthy while loading or after a failed load).
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready");

app.MapGet("/ask", async (string q, string? effort, IChatCompletionService chat, CancellationToken cancellationToken) =>
{
    var settings = new RecurrentDepthPromptExecutionSettings { ReasoningEffort = effort ?? "medium", MaxTokens = 64 };
    ChatHistory history = [];
    history.AddUserMessage(q);
    try
    {
        var reply = await chat.GetChatMessageContentAsync(history, settings, cancellationToken: cancellationToken);
        return Results.Ok(new
        {
            answer = reply.Content,
            mean_steps = reply.Metadata?[RecurrenceMetadataKeys.MeanSteps],
            cap_hit_share = reply.Metadata?[RecurrenceMetadataKeys.CapHitShare],
        });
    }
    catch (ArgumentException ex)
    {
        // Settings errors name the setting (e.g. reasoning_effort).
        return Results.BadRequest(new { error = ex.Message, setting = ex.ParamName });
    }
});

app.Run();
